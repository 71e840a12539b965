"""Typed memories: the six memory types, their store and search."""
