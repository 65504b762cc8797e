"""What the catalog holds: tools, prompts and resources, whatever their source."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TOOL_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


class Routing(BaseModel):
    """How a tool is executed: a backend type and that backend's config."""

    model_config = ConfigDict(extra="forbid")

    type: str
    config: dict[str, Any] = Field(default_factory=dict)


class ToolDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str = ""
    title: str | None = None
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    output_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None
    routing: Routing
    hidden: bool = False
    enabled: bool = True
    keywords: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)
    category: str | None = None
    # where it came from: "file:<path>", "server:<name>" or "builtin"
    source: str = "builtin"
    # the upstream server and the name it knows the tool by (external tools only)
    server: str | None = None
    original_name: str | None = None
    meta: dict[str, Any] | None = None

    @property
    def upstream_name(self) -> str:
        return self.original_name or self.name

    def to_mcp(self) -> dict[str, Any]:
        """The wire form for tools/list (camelCase keys)."""
        out: dict[str, Any] = {"name": self.name, "inputSchema": self.input_schema}
        if self.title:
            out["title"] = self.title
        if self.description:
            out["description"] = self.description
        if self.output_schema is not None:
            out["outputSchema"] = self.output_schema
        if self.annotations:
            out["annotations"] = self.annotations
        if self.meta:
            out["_meta"] = self.meta
        return out


class PromptArgumentDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None = None
    required: bool = False


class PromptMessageDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = "user"
    content: str


class PromptDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title: str | None = None
    description: str | None = None
    arguments: list[PromptArgumentDef] = Field(default_factory=list)
    # local prompts: message templates with {arg} placeholders
    messages: list[PromptMessageDef] = Field(default_factory=list)
    template: str | None = None
    source: str = "builtin"
    server: str | None = None
    original_name: str | None = None

    def to_mcp(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.title:
            out["title"] = self.title
        if self.description:
            out["description"] = self.description
        if self.arguments:
            out["arguments"] = [a.model_dump(exclude_none=True) for a in self.arguments]
        return out


class ResourceDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    # local resources: inline text, or a file path to read
    text: str | None = None
    path: str | None = None
    source: str = "builtin"
    server: str | None = None

    def to_mcp(self) -> dict[str, Any]:
        return _described({"uri": self.uri, "name": self.name}, self.title, self.description, self.mime_type)


class ResourceTemplateDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uri_template: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    source: str = "builtin"
    server: str | None = None

    def to_mcp(self) -> dict[str, Any]:
        return _described(
            {"uriTemplate": self.uri_template, "name": self.name},
            self.title,
            self.description,
            self.mime_type,
        )


def _described(
    out: dict[str, Any], title: str | None, description: str | None, mime_type: str | None
) -> dict[str, Any]:
    """Add the optional descriptive fields of a resource or template in wire form."""
    if title:
        out["title"] = title
    if description:
        out["description"] = description
    if mime_type:
        out["mimeType"] = mime_type
    return out
