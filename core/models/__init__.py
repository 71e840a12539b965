"""Local model backends: chat LLMs and embedders (llama.cpp), plus deterministic fakes."""

from core.models.base import ChatModel, Embedder, FakeChatModel, FakeEmbedder, Message

__all__ = ["ChatModel", "Embedder", "FakeChatModel", "FakeEmbedder", "Message"]
