"""A real GraphQL service (graphql-core behind Starlette) for end-to-end tests; every request
must carry `Authorization: Bearer GRAPHQL_TOKEN`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.generators.petstore_service import serve_app

GRAPHQL_TOKEN = "gql-e2e-token"
SDL = """
type Author { id: ID! name: String! books: [Book!]! }
type Book { id: ID! title: String! year: Int author: Author! }
enum Genre { FICTION SCIENCE }
input NewBook { title: String! year: Int genre: Genre = FICTION authorId: ID! }
type Query { book(id: ID!): Book books(limit: Int = 10): [Book!]! }
type Mutation { addBook(input: NewBook!): Book! }
"""


def _schema() -> graphql.GraphQLSchema:
    authors = {"1": {"id": "1", "name": "Ursula"}}
    books = {"1": {"id": "1", "title": "The Dispossessed", "year": 1974, "authorId": "1"}}
    schema = graphql.build_schema(SDL)

    def author_of(book: dict[str, Any], _info: Any) -> Any:
        return authors[book["authorId"]]

    def books_of(author: dict[str, Any], _info: Any) -> Any:
        return [b for b in books.values() if b["authorId"] == author["id"]]

    schema.query_type.fields["book"].resolve = lambda _o, _i, id: books.get(id)
    schema.query_type.fields["books"].resolve = lambda _o, _i, limit=10: list(books.values())[:limit]

    def add_book(_o: Any, _i: Any, input: dict[str, Any]) -> Any:
        book_id = str(len(books) + 1)
        books[book_id] = {"id": book_id, **input}
        return books[book_id]

    schema.mutation_type.fields["addBook"].resolve = add_book
    schema.get_type("Book").fields["author"].resolve = author_of
    schema.get_type("Author").fields["books"].resolve = books_of
    return schema


@contextmanager
def run_graphql_service() -> Iterator[str]:
    """Yields the endpoint URL."""
    schema = _schema()

    async def endpoint(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {GRAPHQL_TOKEN}":
            return JSONResponse({"errors": [{"message": "unauthorized"}]}, status_code=401)
        body = await request.json()
        result = await graphql.graphql(
            schema,
            body["query"],
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [e.formatted for e in result.errors]
        return JSONResponse(payload)

    with serve_app(Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])) as base:
        yield f"{base}/graphql"
