"""The built-in discovery tools as clients see them (MagicTunnel's smart_tool_discovery schema)."""

from __future__ import annotations

from magictunnel.catalog.models import Routing, ToolDef


def builtin_tools(summary: str, default_threshold: float, routing: Routing) -> list[ToolDef]:
    def routed(action: str) -> Routing:
        return routing.model_copy(update={"config": {"action": action}})

    discover = ToolDef(
        name="smart_tool_discovery",
        title="Smart tool discovery",
        description=(
            "Describe what you want done in plain language; MagicTunnel finds the best tool, fills its "
            "parameters from your request and runs it, returning the result with the chosen tool, its "
            "confidence and the alternatives. Below the confidence threshold nothing runs and the best "
            f"candidates are returned with their input schemas. {summary}"
        ),
        input_schema={
            "type": "object",
            "properties": {
                "request": {
                    "type": "string",
                    "minLength": 1,
                    "description": "What you want done, in plain language, with the values to use "
                    "(e.g. 'read /etc/hosts', 'weather in Paris in fahrenheit').",
                },
                "context": {
                    "type": "string",
                    "description": "Extra context that helps choose the tool or fill its parameters.",
                },
                "preferred_tools": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Tool names to favour when they fit the request.",
                },
                "confidence_threshold": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": 1,
                    "default": default_threshold,
                    "description": "Minimum confidence (0-1) needed to run a tool.",
                },
                "sequential_mode": {
                    "type": "boolean",
                    "default": False,
                    "description": "Treat the request as steps ('... then ...'): run the "
                    "first step and suggest the next one.",
                },
                "include_error_details": {
                    "type": "boolean",
                    "default": False,
                    "description": "Include scoring and parameter-mapping details when something fails.",
                },
            },
            "required": ["request"],
            "additionalProperties": False,
        },
        annotations={"openWorldHint": True},
        routing=routed("discover"),
        source="builtin",
        category="discovery",
    )
    search = ToolDef(
        name="search_tools",
        title="Search tools",
        description=(
            "Search the tool catalog with a plain-language query; returns ranked tools with "
            f"descriptions, confidence and input schemas, to run with call_tool. {summary}"
        ),
        input_schema={
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "description": "What the tool should do."},
                "limit": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 50,
                    "default": 10,
                    "description": "How many tools to return.",
                },
                "include_schemas": {
                    "type": "boolean",
                    "default": True,
                    "description": "Include each tool's input schema.",
                },
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        annotations={"readOnlyHint": True, "openWorldHint": False},
        routing=routed("search"),
        source="builtin",
        category="discovery",
    )
    call = ToolDef(
        name="call_tool",
        title="Call a tool",
        description="Run any catalog tool by name with arguments (use search_tools to find names and schemas).",
        input_schema={
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "description": "The tool's name."},
                "arguments": {"type": "object", "description": "Arguments matching the tool's input schema."},
            },
            "required": ["name"],
            "additionalProperties": False,
        },
        annotations={"openWorldHint": True},
        routing=routed("call"),
        source="builtin",
        category="discovery",
    )
    return [discover, search, call]
