"""PacketFlow on Faust: ``patches/`` holds every use of Faust's private API (see its doc)."""
