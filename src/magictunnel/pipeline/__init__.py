from magictunnel.pipeline.chain import Middleware, Next, Pipeline
from magictunnel.pipeline.context import CallContext, Identity, ToolCall
from magictunnel.pipeline.results import ToolResult, input_required_of, input_retry

__all__ = [
    "CallContext",
    "Identity",
    "Middleware",
    "Next",
    "Pipeline",
    "ToolCall",
    "ToolResult",
    "input_required_of",
    "input_retry",
]
