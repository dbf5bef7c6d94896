"""The worker's internal protocol: hop records to the stage owning a key, and their bundles."""
