"""The worker side of PacketFlow: the Faust app (:func:`.app.create_app`), the request loop's
start, the agent builder, the sink and web pages.

Nothing is imported here: the rooms the worker assembles (``reactor``, ``ratelimit``) use its
agent builder and sink, and importing one of them must not build the whole worker first.
"""
