from magictunnel.pipeline.chain import Middleware, Next, Pipeline
from magictunnel.pipeline.context import CallContext, Identity, ToolCall

__all__ = ["CallContext", "Identity", "Middleware", "Next", "Pipeline", "ToolCall"]
