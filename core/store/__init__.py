"""The one door to the database: connection, schema, indexes, memories, observations and records.

Only modules in this package run SQL.  The rest of Engram asks the store through
named methods (``store.memories.add(...)``, ``store.observations.unabsorbed()``,
``store.absorb_log.record_batch(...)``) and a test parses the tree to keep it so.
"""
