"""The `graphql` backend against a real GraphQL service (graphql-core behind Starlette) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from local_http_app import SEEN, serve

from magictunnel.backends.base import BackendError
from magictunnel.backends.graphql import GraphQLBackend
from magictunnel.backends.http_client import SharedHttpClient
from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.pipeline.context import CallContext

pytestmark = pytest.mark.anyio


class DictVault:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets

    def get_secret(self, name: str) -> str | None:
        return self.secrets.get(name)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve() as url:
        yield url


@pytest.fixture
async def backend() -> AsyncIterator[GraphQLBackend]:
    b = GraphQLBackend(SharedHttpClient(), DictVault({"gql": "gql-token"}))
    yield b
    await b.aclose()


async def run(backend: GraphQLBackend, config: dict[str, Any], args: dict[str, Any] | None = None):
    tool = ToolDef(name="g", routing=Routing(type="graphql", config=config))
    return await backend.execute(tool, args or {}, CallContext())


USER_QUERY = "query GetUser($id: ID!) { user(id: $id) { id name tags } }"


async def test_arguments_become_variables(backend: GraphQLBackend, base_url: str) -> None:
    result = await run(backend, {"endpoint": base_url + "/graphql", "query": USER_QUERY}, {"id": "1"})
    assert not result.is_error, result.content[0].text
    assert result.structured_content == {"user": {"id": "1", "name": "Ada", "tags": ["math"]}}


async def test_variables_mapping_operation_name_and_data_path(backend: GraphQLBackend, base_url: str) -> None:
    document = USER_QUERY + " query Other { users { id } }"
    config = {
        "endpoint": base_url + "/graphql",
        "query": document,
        "operation_name": "GetUser",
        "variables": {"id": "{user_id}", "unused": "{missing}"},
        "data_path": "user",
    }
    result = await run(backend, config, {"user_id": "2"})
    assert not result.is_error, result.content[0].text
    assert result.structured_content == {"id": "2", "name": "Linus", "tags": []}
    # without operation_name a multi-operation document is a GraphQL error
    ambiguous = await run(backend, {"endpoint": base_url + "/graphql", "query": document}, {"id": "1"})
    assert ambiguous.is_error and "operation name" in ambiguous.content[0].text.lower()


async def test_list_data_and_get_method(backend: GraphQLBackend, base_url: str) -> None:
    config = {
        "endpoint": base_url + "/graphql",
        "method": "GET",
        "query": "query($n: Int) { users(limit: $n) { name } }",
        "data_path": "users",
    }
    result = await run(backend, config, {"n": 1})
    assert not result.is_error, result.content[0].text
    assert result.structured_content is None  # a list is not an object: text only
    assert '"Ada"' in result.content[0].text and "Linus" not in result.content[0].text


async def test_mutation_with_input_object(backend: GraphQLBackend, base_url: str) -> None:
    config = {
        "endpoint": base_url + "/graphql",
        "query": "mutation Create($input: NewUser!) { createUser(input: $input) { name tags } }",
        "variables": {"input": {"name": "{name}", "tags": "{tags}"}},
    }
    result = await run(backend, config, {"name": "Grace", "tags": ["navy"]})
    assert result.structured_content == {"createUser": {"name": "Grace", "tags": ["navy"]}}


async def test_errors_become_is_error_results_with_messages(backend: GraphQLBackend, base_url: str) -> None:
    partial = await run(backend, {"endpoint": base_url + "/graphql", "query": "{ boom users { id } }"})
    assert partial.is_error
    assert partial.content[0].text == "GraphQL error: boom field exploded (at boom)"
    assert partial.structured_content["data"]["users"] == [{"id": "1"}, {"id": "2"}]
    invalid = await run(backend, {"endpoint": base_url + "/graphql", "query": "{ nosuchfield }"})
    assert invalid.is_error
    assert "Cannot query field 'nosuchfield' on type 'Query'" in invalid.content[0].text
    assert invalid.structured_content["status"] == 400
    missing_var = await run(backend, {"endpoint": base_url + "/graphql", "query": USER_QUERY})
    assert missing_var.is_error and "$id" in missing_var.content[0].text


async def test_bad_data_path_and_non_graphql_endpoint(backend: GraphQLBackend, base_url: str) -> None:
    bad_path = await run(
        backend,
        {"endpoint": base_url + "/graphql", "query": USER_QUERY, "data_path": "user.address"},
        {"id": "1"},
    )
    assert bad_path.is_error and "data.user.address" in bad_path.content[0].text
    not_graphql = await run(backend, {"endpoint": base_url + "/text", "query": "{ a }", "method": "GET"})
    assert not_graphql.is_error and "not a GraphQL result" in not_graphql.content[0].text
    http_error = await run(backend, {"endpoint": base_url + "/status/500", "query": "{ a }"})
    assert http_error.is_error and http_error.content[0].text.startswith("HTTP 500")


async def test_credential_injection_and_headers(backend: GraphQLBackend, base_url: str) -> None:
    denied = await run(backend, {"endpoint": base_url + "/graphql/auth", "query": "{ users { id } }"})
    assert denied.is_error and denied.content[0].text == "GraphQL error: not authenticated"
    assert denied.structured_content["status"] == 401
    allowed = await run(
        backend,
        {
            "endpoint": base_url + "/graphql/auth",
            "query": "{ users { id } }",
            "auth": {"type": "bearer", "credential": "gql"},
        },
    )
    assert not allowed.is_error, allowed.content[0].text
    with pytest.raises(BackendError, match="credential 'other' is not available"):
        await run(
            backend,
            {
                "endpoint": base_url + "/graphql/auth",
                "query": "{ a }",
                "auth": {"type": "bearer", "credential": "other"},
            },
        )


async def test_queries_retry_but_mutations_do_not(backend: GraphQLBackend, base_url: str) -> None:
    query = await run(
        backend, {"endpoint": base_url + "/flaky/gql-query/1", "query": "{ a }", "retry_backoff": 0}
    )
    assert query.is_error and "not a GraphQL result" in query.content[0].text  # got through to the 200
    assert SEEN["gql-query"] == 2
    mutation = await run(
        backend,
        {
            "endpoint": base_url + "/flaky/gql-mutation/1",
            "retry_backoff": 0,
            "query": '# create\nmutation { createUser(input: {name: "x"}) { id } }',
        },
    )
    assert mutation.is_error and mutation.content[0].text.startswith("HTTP 503")
    assert SEEN["gql-mutation"] == 1


def test_check_config() -> None:
    b = GraphQLBackend()
    assert b.check_config({"endpoint": "http://x/graphql", "query": "{ a }"}) == []
    assert b.check_config({"url": "http://x/graphql", "query": "{ a }", "operationName": "A"}) == []
    problems = "\n".join(
        b.check_config(
            {"endpoint": "x", "variables": [], "method": "PUT", "operation_name": 3, "retries": "2"}
        )
    )
    for expected in (
        "endpoint: expected an http:// or https:// URL",
        "query: required",
        "variables: expected a mapping",
        "method: expected POST or GET",
        "operation_name: expected a string",
        "retries: expected a non-negative integer",
    ):
        assert expected in problems
