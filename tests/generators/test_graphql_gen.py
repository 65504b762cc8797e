"""GraphQL generation from SDL and from an introspection result."""

from __future__ import annotations

import json
from pathlib import Path

from graphql import build_schema, introspection_from_schema

from magictunnel.catalog.capability_file import load_capability_file
from magictunnel.generators.graphql_gen import GraphQLOptions, generate_graphql
from magictunnel.generators.output import write_result

SDL = '''
"""A person"""
type User { id: ID! name: String friends(first: Int = 10): [User!]! posts: [Post] role: Role
            manager: User }
type Post { id: ID! title: String! author: User body(format: String!): String }
enum Role { ADMIN USER }
input UserFilter { name: String role: Role = USER and: [UserFilter!] }
union SearchResult = User | Post
scalar DateTime
type Query {
  "Look up one user"
  user(id: ID!): User
  users(filter: UserFilter, limit: Int = 5, since: DateTime): [User!]!
  search(q: String!): [SearchResult]
  version: String
}
type Mutation { createUser(name: String!, role: Role, tags: [String!]!): User }
'''


def _by_name(result) -> dict:
    return {t["name"]: t for t in result.tools}


def test_sdl_queries_and_mutations(tmp_path: Path) -> None:
    path = tmp_path / "schema.graphql"
    path.write_text(SDL)
    result = generate_graphql(str(path), GraphQLOptions(endpoint="http://127.0.0.1:1/graphql"))
    assert result.problems == []
    tools = _by_name(result)
    assert set(tools) == {"user", "users", "search", "version", "createUser"}
    user = tools["user"]
    assert user["description"] == "Look up one user"
    assert user["inputSchema"] == {
        "type": "object",
        "properties": {"id": {"type": "string", "description": "ID"}},
        "required": ["id"],
    }
    cfg = user["routing"]["config"]
    assert user["routing"]["type"] == "graphql"
    assert cfg["endpoint"] == "http://127.0.0.1:1/graphql" and cfg["data_path"] == "user"
    # depth 2 selection; a type is not re-entered (User.manager / friends are cycles); fields needing args skipped
    assert cfg["query"] == ("query user($id: ID!) { user(id: $id) { id name posts { id title } role } }")
    users = tools["users"]["inputSchema"]["properties"]
    assert users["limit"] == {"type": "integer", "default": 5}
    assert users["filter"]["properties"]["role"] == {
        "type": "string",
        "enum": ["ADMIN", "USER"],
        "default": "USER",
    }
    assert "Recursive reference to UserFilter" in users["filter"]["properties"]["and"]["items"]["description"]
    assert users["since"] == {"description": "DateTime (custom scalar)"}
    search = tools["search"]["routing"]["config"]["query"]
    assert "__typename ... on User {" in search and "... on Post {" in search
    create = tools["createUser"]
    assert create["inputSchema"]["required"] == ["name", "tags"]
    assert create["inputSchema"]["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert create["routing"]["config"]["query"].startswith(
        "mutation createUser($name: String!, $role: Role, $tags: [String!]!) { createUser("
    )
    assert create["annotations"]["readOnlyHint"] is False
    assert tools["user"]["outputSchema"]["properties"]["posts"]["type"] == "array"
    out = tmp_path / "gql.yaml"
    write_result(result, out)
    assert load_capability_file(out, {"graphql"}).problems == []


def test_introspection_result_and_depth(tmp_path: Path) -> None:
    path = tmp_path / "introspection.json"
    path.write_text(json.dumps({"data": introspection_from_schema(build_schema(SDL))}))
    result = generate_graphql(
        str(path),
        GraphQLOptions(endpoint="http://127.0.0.1:1/graphql", depth=0, include_mutations=False, prefix="gh_"),
    )
    assert result.problems == []
    tools = _by_name(result)
    assert set(tools) == {"gh_user", "gh_users", "gh_search", "gh_version"}
    assert (
        tools["gh_user"]["routing"]["config"]["query"]
        == "query gh_user($id: ID!) { user(id: $id) { id name role } }"
    )


def test_errors_are_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.graphql"
    path.write_text("type Query {\n  user(id: ID!): \n}\n")
    result = generate_graphql(str(path), GraphQLOptions(endpoint="http://127.0.0.1:1/graphql"))
    assert result.tools == [] and result.problems[0].startswith(f"{path}:3:1: invalid GraphQL SDL")
    (tmp_path / "x.json").write_text('{"nothing": 1}')
    result = generate_graphql(str(tmp_path / "x.json"), GraphQLOptions(endpoint="http://127.0.0.1:1/graphql"))
    assert "not an introspection result" in result.problems[0]
    result = generate_graphql(str(path), GraphQLOptions())
    assert result.problems == ["endpoint: required, the URL the generated tools call"]


def test_live_introspection_with_a_header_that_is_not_written() -> None:
    from tests.generators.graphql_service import GRAPHQL_TOKEN, run_graphql_service

    with run_graphql_service() as endpoint:
        denied = generate_graphql(endpoint, GraphQLOptions(), introspect=True)
        assert denied.tools == [] and "introspection failed" in denied.problems[0]
        result = generate_graphql(
            endpoint,
            GraphQLOptions(introspection_headers={"Authorization": f"Bearer {GRAPHQL_TOKEN}"}),
            introspect=True,
        )
    assert result.problems == []
    assert {t["name"] for t in result.tools} == {"book", "books", "addBook"}
    assert all(t["routing"]["config"]["endpoint"] == endpoint for t in result.tools)
    assert GRAPHQL_TOKEN not in json.dumps(result.tools)
    add = _by_name(result)["addBook"]["inputSchema"]["properties"]["input"]
    assert add["required"] == ["title", "authorId"]
    assert add["properties"]["genre"] == {
        "type": "string",
        "enum": ["FICTION", "SCIENCE"],
        "default": "FICTION",
    }
