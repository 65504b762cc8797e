"""OpenAPI generation against real public specs (@readme/oas-examples, @octokit/openapi)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from magictunnel.catalog.capability_file import load_capability_file
from magictunnel.generators.openapi import OpenAPIOptions, generate_openapi
from magictunnel.generators.output import write_result

KNOWN = {"http", "graphql", "grpc"}


def tools_by_name(result) -> dict:
    return {t["name"]: t for t in result.tools}


def test_petstore_30_operations_schemas_and_routing(oas: Path) -> None:
    result = generate_openapi(str(oas / "3.0/json/petstore.json"))
    assert result.problems == []
    tools = tools_by_name(result)
    assert len(tools) == 20
    get = tools["getPetById"]
    assert get["inputSchema"] == {
        "type": "object",
        "properties": {"petId": {"type": "integer", "format": "int64", "description": "ID of pet to return"}},
        "required": ["petId"],
    }
    cfg = get["routing"]["config"]
    assert get["routing"]["type"] == "http"
    assert cfg["method"] == "GET"
    assert cfg["url"] == "http://petstore.swagger.io/v2/pet/{petId}"
    assert cfg["auth"] == {
        "type": "api_key",
        "credential": "swagger_petstore.api_key",
        "in": "header",
        "name": "api_key",
    }
    assert get["annotations"]["readOnlyHint"] is True
    # output schema from the 200 JSON response, refs inlined
    assert get["outputSchema"]["type"] == "object"
    assert get["outputSchema"]["properties"]["status"]["enum"] == ["available", "pending", "sold"]
    # query array with enum and default kept; required
    status = tools["findPetsByStatus"]["inputSchema"]["properties"]["status"]
    assert status["type"] == "array" and status["items"]["enum"] == ["available", "pending", "sold"]
    assert tools["findPetsByStatus"]["routing"]["config"]["query"] == {"status": "{status}"}
    assert "outputSchema" not in tools["findPetsByStatus"]  # an array is not an MCP output schema
    # JSON body as a nested object; readOnly `id` is not an input; required list from the schema
    body = tools["addPet"]["inputSchema"]["properties"]["body"]
    assert body["type"] == "object"
    assert "id" not in body["properties"]
    assert body["required"] == ["name", "photoUrls"]
    assert tools["addPet"]["inputSchema"]["required"] == ["body"]
    assert tools["addPet"]["routing"]["config"]["body"] == "{body}"
    assert tools["deletePet"]["annotations"]["destructiveHint"] is True
    # header parameter
    assert tools["deletePet"]["routing"]["config"]["headers"] == {"api_key": "{api_key}"}
    # form body
    form = tools["updatePetWithForm"]["routing"]["config"]["form"]
    assert form == {"name": "{body.name}", "status": "{body.status}"}


def test_31_and_swagger2_petstore_generate_the_same_operations(oas: Path) -> None:
    names30 = set(tools_by_name(generate_openapi(str(oas / "3.0/json/petstore.json"))))
    r31 = generate_openapi(str(oas / "3.1/json/petstore.json"))
    r20 = generate_openapi(str(oas / "2.0/json/petstore.json"))
    assert r31.problems == [] and r20.problems == []
    assert set(tools_by_name(r31)) == names30
    assert set(tools_by_name(r20)) == names30
    get20 = tools_by_name(r20)["getPetById"]
    assert get20["routing"]["config"]["url"].endswith("/v2/pet/{petId}")
    assert get20["inputSchema"]["required"] == ["petId"]
    assert "Swagger 2.0 document converted to OpenAPI 3.0" in r20.warnings
    # swagger 2 body parameter became the JSON body
    assert tools_by_name(r20)["addPet"]["inputSchema"]["properties"]["body"]["type"] == "object"


def _all_example_specs() -> list[str]:
    from tests.generators.specs import SpecsUnavailable, oas_examples

    try:
        root = oas_examples()
    except SpecsUnavailable:
        return []
    return sorted(
        str(p.relative_to(root)) for p in [*root.glob("*/json/*.json"), *root.glob("*/yaml/*.yaml")]
    )


@pytest.mark.parametrize("relpath", _all_example_specs())
def test_every_example_document_generates_loadable_capability_files(
    oas: Path, relpath: str, tmp_path: Path
) -> None:
    result = generate_openapi(str(oas / relpath), OpenAPIOptions(base_url=None))
    if any("base URL" in p for p in result.problems):
        result = generate_openapi(str(oas / relpath), OpenAPIOptions(base_url="http://127.0.0.1:9"))
    if relpath.startswith("3.1") and "webhooks" in relpath:
        assert result.tools == [] and "no operations" in result.problems[0]
        return
    assert result.problems == [], result.problems
    assert result.tools
    out = tmp_path / "tools.yaml"
    write_result(result, out)
    loaded = load_capability_file(out, KNOWN)
    assert loaded.problems == []
    assert [t.name for t in loaded.tools] == [t["name"] for t in result.tools]
    assert len({t.name for t in loaded.tools}) == len(loaded.tools)
    json.dumps(result.tools)  # finite, serialisable: recursive schemas were cut


def test_recursive_schemas_are_cut_with_a_note(oas: Path) -> None:
    result = generate_openapi(str(oas / "3.0/json/circular-request-bodies.json"))
    assert result.problems == []
    assert any(w.startswith("recursive schemas cut:") and "TreeNode" in w for w in result.warnings)
    text = json.dumps(result.tools)
    assert "Recursive reference to TreeNode" in text


def test_security_schemes_map_to_vault_credential_names(oas: Path) -> None:
    result = generate_openapi(str(oas / "3.0/json/security.json"))
    auths = [t["routing"]["config"].get("auth") for t in result.tools]
    kinds = {(a["type"], a.get("in")) for a in auths if a}
    assert {
        ("api_key", "query"),
        ("api_key", "header"),
        ("api_key", "cookie"),
        ("basic", None),
        ("bearer", None),
    } <= kinds
    for auth in filter(None, auths):
        assert set(auth) <= {"type", "credential", "in", "name", "oauth2", "oidc", "username"}
        assert auth["credential"].startswith("support_for_different_security_types.")
    override = generate_openapi(
        str(oas / "3.0/json/security.json"), OpenAPIOptions(credentials={"basic": "ops/basic-login"})
    )
    basic = [
        t["routing"]["config"]["auth"]
        for t in override.tools
        if t["routing"]["config"].get("auth", {}).get("type") == "basic"
    ]
    assert basic and all(a["credential"] == "ops/basic-login" for a in basic)


def test_server_variables_defaults_and_overrides(oas: Path) -> None:
    spec = str(oas / "3.0/json/server-variables.json")
    default = generate_openapi(spec)
    assert default.problems == []
    doc = json.loads(Path(spec).read_text())
    variables = doc["servers"][0].get("variables", {})
    first_url = default.tools[0]["routing"]["config"]["url"]
    assert "{" not in first_url.split("://", 1)[1].split("/", 1)[0]
    name = next(iter(variables))
    overridden = generate_openapi(spec, OpenAPIOptions(server_variables={name: "zzoverride"}))
    assert any("zzoverride" in t["routing"]["config"]["url"] for t in overridden.tools)
    based = generate_openapi(spec, OpenAPIOptions(base_url="http://127.0.0.1:8080/api/"))
    assert all(t["routing"]["config"]["url"].startswith("http://127.0.0.1:8080/api/") for t in based.tools)


def test_filters_by_tag_path_method_and_deprecated(oas: Path) -> None:
    spec = str(oas / "3.0/json/petstore.json")
    by_tag = generate_openapi(spec, OpenAPIOptions(include_tags=["store"]))
    assert {t["name"] for t in by_tag.tools} == {"getInventory", "placeOrder", "getOrderById", "deleteOrder"}
    by_path = generate_openapi(spec, OpenAPIOptions(include_paths=["/user/*"], methods=["get"]))
    assert {t["name"] for t in by_path.tools} == {"loginUser", "logoutUser", "getUserByName"}
    excluded = generate_openapi(
        spec, OpenAPIOptions(exclude_tags=["pet", "user"], exclude_paths=["/store/order*"])
    )
    assert [t["name"] for t in excluded.tools] == ["getInventory"]
    deprecated_spec = str(oas / "3.0/json/schema-deprecated.json")
    everything = generate_openapi(deprecated_spec)
    doc = json.loads(Path(deprecated_spec).read_text())
    n_deprecated = sum(
        1
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("deprecated")
    )
    without = generate_openapi(deprecated_spec, OpenAPIOptions(include_deprecated=False))
    assert len(everything.tools) - len(without.tools) == n_deprecated


def test_naming_options(oas: Path) -> None:
    spec = str(oas / "3.0/json/petstore.json")
    snake = tools_by_name(generate_openapi(spec, OpenAPIOptions(naming="snake", prefix="pets_")))
    assert "pets_get_pet_by_id" in snake
    camel = tools_by_name(generate_openapi(spec, OpenAPIOptions(naming="camel")))
    assert "getPetById" in camel and "createUsersWithArrayInput" in camel


def _write(tmp: Path, name: str, data: dict) -> str:
    path = tmp / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_bad_operation_is_reported_with_location_and_skipped(tmp_path: Path) -> None:
    spec = {
        "openapi": "3.0.3",
        "info": {"title": "Broken", "version": "1"},
        "servers": [{"url": "https://api.example.test"}],
        "paths": {
            "/pets/{id}": {
                "get": {
                    "operationId": "getPet",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {"$ref": "#/components/schemas/Missing"},
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/pets": {
                "get": {
                    "responses": {"200": {"description": "ok"}},
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": {"$ref": "#/components/schemas/Nope"}}
                    ],
                },
                "post": {
                    "operationId": "addPet",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "properties": {"name": {"type": "string"}}}
                            }
                        }
                    },
                    "responses": {"201": {"description": "created"}},
                },
            },
        },
    }
    result = generate_openapi(_write(tmp_path, "broken.yaml", spec))
    assert (
        "paths./pets/{id}.get.parameters[2]: unresolvable $ref '#/components/schemas/Missing'"
        in result.problems
    )
    assert (
        "paths./pets.get.parameters[0].schema: unresolvable $ref '#/components/schemas/Nope'"
        in result.problems
    )
    assert [t["name"] for t in result.tools] == ["addPet"]


def test_refs_into_another_document_of_the_set(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    _write(
        tmp_path / "models",
        "pet.yaml",
        {
            "Pet": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "owner": {"$ref": "#/Owner"}},
            },
            "Owner": {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}},
        },
    )
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "Split", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:1"}],
        "paths": {
            "/pets": {
                "post": {
                    "operationId": "createPet",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "models/pet.yaml#/Pet"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": "models/pet.yaml#/Pet"}}},
                        }
                    },
                }
            }
        },
    }
    result = generate_openapi(_write(tmp_path, "api.yaml", spec))
    assert result.problems == []
    body = result.tools[0]["inputSchema"]["properties"]["body"]
    assert body["properties"]["owner"]["properties"]["email"] == {"type": "string", "format": "email"}
    assert result.tools[0]["outputSchema"]["required"] == ["name"]


def test_openapi_30_dialect_is_translated(tmp_path: Path) -> None:
    spec = {
        "openapi": "3.0.0",
        "info": {"title": "Dialect", "version": "1"},
        "servers": [{"url": "http://127.0.0.1:1"}],
        "paths": {
            "/items": {
                "get": {
                    "operationId": "listItems",
                    "parameters": [
                        {
                            "name": "min",
                            "in": "query",
                            "schema": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                        },
                        {
                            "name": "tag",
                            "in": "query",
                            "schema": {
                                "type": "string",
                                "nullable": True,
                                "enum": ["a", "b"],
                                "example": "a",
                            },
                        },
                        {
                            "name": "X-Trace-Id",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {"name": "session", "in": "cookie", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    tool = generate_openapi(_write(tmp_path, "d.yaml", spec)).tools[0]
    props = tool["inputSchema"]["properties"]
    assert props["min"] == {"type": "number", "exclusiveMinimum": 0}
    assert props["tag"]["type"] == ["string", "null"] and props["tag"]["enum"] == ["a", "b", None]
    assert props["tag"]["examples"] == ["a"]
    assert tool["inputSchema"]["required"] == ["X_Trace_Id"]
    assert tool["routing"]["config"]["headers"] == {
        "X-Trace-Id": "{X_Trace_Id}",
        "Cookie": "session={session}",
    }


def test_unsupported_or_missing_documents_are_clear_errors(tmp_path: Path) -> None:
    assert "file not found" in generate_openapi(str(tmp_path / "nope.yaml")).problems[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: [unclosed")
    assert "not valid JSON or YAML" in generate_openapi(str(bad)).problems[0]
    bad.write_text("openapi: 4.0.0\npaths: {}\n")
    assert "unsupported version" in generate_openapi(str(bad)).problems[0]
    bad.write_text(
        yaml.safe_dump(
            {
                "openapi": "3.0.0",
                "info": {"title": "x", "version": "1"},
                "paths": {"/a": {"get": {"responses": {}}}},
            }
        )
    )
    result = generate_openapi(str(bad))
    assert result.problems == [
        "paths./a.get: no `servers` entry gives a base URL; pass a base URL option (--base-url)"
    ]


def test_github_rest_spec_generates_every_operation(spec_modules: Path, tmp_path: Path) -> None:
    spec = spec_modules / "@octokit/openapi/generated/api.github.com.json"
    result = generate_openapi(str(spec))
    assert result.problems == []
    doc = json.loads(spec.read_text())
    n_ops = sum(
        1
        for item in doc["paths"].values()
        for m, op in item.items()
        if m in ("get", "put", "post", "delete", "patch", "head", "options", "trace")
    )
    assert len(result.tools) == n_ops > 900
    names = [t["name"] for t in result.tools]
    assert len(set(names)) == len(names)
    repos_get = tools_by_name(result)["repos_get"]
    assert repos_get["routing"]["config"]["url"] == "https://api.github.com/repos/{owner}/{repo}"
    assert repos_get["inputSchema"]["required"] == ["owner", "repo"]
    out = tmp_path / "github.yaml"
    write_result(result, out)
    assert load_capability_file(out, KNOWN).problems == []


def test_spec_from_a_url_with_refs_to_other_documents() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from tests.generators.petstore_service import serve_app

    docs = {
        "/specs/api.yaml": yaml.safe_dump(
            {
                "openapi": "3.0.3",
                "info": {"title": "Remote", "version": "1"},
                "servers": [{"url": "/v1"}],
                "paths": {
                    "/things/{id}": {
                        "get": {
                            "operationId": "getThing",
                            "parameters": [{"$ref": "common/params.yaml#/ThingId"}],
                            "responses": {
                                "200": {
                                    "description": "ok",
                                    "content": {
                                        "application/json": {"schema": {"$ref": "common/models.yaml#/Thing"}}
                                    },
                                }
                            },
                        }
                    }
                },
            }
        ),
        "/specs/common/params.yaml": yaml.safe_dump(
            {
                "ThingId": {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^t-"},
                }
            }
        ),
        "/specs/common/models.yaml": yaml.safe_dump(
            {
                "Thing": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "parent": {"$ref": "#/Thing"}},
                }
            }
        ),
    }

    async def doc(request) -> PlainTextResponse:  # type: ignore[no-untyped-def]
        return PlainTextResponse(docs[request.url.path], media_type="application/yaml")

    with serve_app(Starlette(routes=[Route(path, doc) for path in docs])) as base:
        result = generate_openapi(f"{base}/specs/api.yaml")
    assert result.problems == []
    tool = result.tools[0]
    assert tool["inputSchema"]["properties"]["id"] == {"type": "string", "pattern": "^t-"}
    assert (
        tool["routing"]["config"]["url"] == f"{base}/v1/things/{{id}}"
    )  # relative server URL joined to the spec URL
    assert "Recursive reference to Thing" in tool["outputSchema"]["properties"]["parent"]["description"]


def test_yaml_dates_and_numeric_keys_become_json_values(tmp_path: Path) -> None:
    spec = tmp_path / "dates.yaml"
    spec.write_text(
        "openapi: 3.0.0\ninfo: {title: Dates, version: 1}\nservers: [{url: 'http://127.0.0.1:1'}]\n"
        "paths:\n  /events:\n    get:\n      operationId: listEvents\n      parameters:\n"
        "        - {name: since, in: query, schema: {type: string, format: date, example: 2024-01-31}}\n"
        "      responses:\n        200: {description: ok}\n"
    )
    result = generate_openapi(str(spec))
    assert result.problems == []
    assert result.tools[0]["inputSchema"]["properties"]["since"]["examples"] == ["2024-01-31"]
    write_result(result, tmp_path / "out.yaml")
    assert load_capability_file(tmp_path / "out.yaml", KNOWN).problems == []
