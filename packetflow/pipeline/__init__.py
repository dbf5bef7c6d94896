"""The request path, one module per step: decode → check → execute → publish.

:class:`~packetflow.pipeline.process.Processor` composes the steps; the Faust
agent and :mod:`packetflow.testing` both drive it.
"""
