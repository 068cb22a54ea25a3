"""Security schemes and requirements as the description states them (OpenAPI 3.x and
Swagger 2.0)."""

from __future__ import annotations

from typing import Any

from weft.openapi.description import OpenAPIDescription
from weft.openapi.security import Requirement, SchemeType, requirements, security_schemes

OAS3: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "security": [{"key": []}],
    "paths": {
        "/a": {
            "get": {"operationId": "a", "responses": {"200": {"description": "ok"}}},
            "post": {
                "operationId": "b",
                "security": [{"cc": ["read", "write"], "key": []}, {"basic": []}, {}],
                "responses": {"200": {"description": "ok"}},
            },
            "delete": {
                "operationId": "c",
                "security": [],
                "responses": {"200": {"description": "ok"}},
            },
        }
    },
    "components": {
        "securitySchemes": {
            "key": {"type": "apiKey", "in": "query", "name": "api_key"},
            "basic": {"type": "http", "scheme": "Basic"},
            "bearer": {"$ref": "#/components/securitySchemes/jwt"},
            "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "cc": {
                "type": "oauth2",
                "flows": {
                    "clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}},
                    "implicit": {"authorizationUrl": "/auth", "scopes": {}},
                },
            },
            "code": {"type": "oauth2", "flows": {"authorizationCode": {}}},
            "oidc": {"type": "openIdConnect", "openIdConnectUrl": "/.well-known/openid"},
            "mtls": {"type": "mutualTLS"},
        }
    },
}


def test_schemes_of_an_openapi_3_description() -> None:
    desc = OpenAPIDescription.from_tree("api", "mem://api.yaml", OAS3)
    schemes = security_schemes(desc)
    assert schemes["key"].type == SchemeType.API_KEY
    assert (schemes["key"].location, schemes["key"].param_name) == ("query", "api_key")
    assert (schemes["basic"].type, schemes["basic"].scheme) == (SchemeType.HTTP, "basic")
    assert schemes["bearer"].scheme == "bearer"  # through its $ref
    assert schemes["cc"].token_url == "/oauth/token"
    assert schemes["cc"].flows == ("clientCredentials", "implicit")
    assert schemes["code"].token_url is None
    assert schemes["code"].credential_form == "access token"
    assert schemes["cc"].credential_form == "client_id:client_secret"
    assert schemes["oidc"].openid_url == "/.well-known/openid"
    assert not schemes["mtls"].supported
    assert {s.source for s in schemes.values()} == {"api"}


def test_requirements_fall_back_to_the_document_and_keep_alternatives() -> None:
    desc = OpenAPIDescription.from_tree("api", "mem://api.yaml", OAS3)
    assert requirements(desc.by_id["a"], desc) == [Requirement((("key", ()),))]
    alternatives = requirements(desc.by_id["b"], desc)
    assert alternatives == [
        Requirement((("cc", ("read", "write")), ("key", ()))),
        Requirement((("basic", ()),)),
        Requirement(()),
    ]
    assert alternatives[2].empty and alternatives[0].names == ("cc", "key")
    assert requirements(desc.by_id["c"], desc) == []  # an empty list: no security


def test_swagger_2_security_definitions() -> None:
    tree = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "1"},
        "host": "127.0.0.1",
        "security": [{"basic": []}],
        "paths": {"/a": {"get": {"operationId": "a", "responses": {"200": {}}}}},
        "securityDefinitions": {
            "basic": {"type": "basic"},
            "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
            "app": {"type": "oauth2", "flow": "application", "tokenUrl": "http://t/token"},
            "imp": {"type": "oauth2", "flow": "implicit", "authorizationUrl": "http://t/a"},
        },
    }
    desc = OpenAPIDescription.from_tree("v2", "mem://v2.yaml", tree)
    schemes = security_schemes(desc)
    assert (schemes["basic"].type, schemes["basic"].scheme) == (SchemeType.HTTP, "basic")
    assert schemes["key"].label == "apiKey in header X-Key"
    assert schemes["app"].token_url == "http://t/token"
    assert schemes["app"].flows == ("clientCredentials",)
    assert schemes["imp"].token_url is None
    assert requirements(desc.by_id["a"], desc) == [Requirement((("basic", ()),))]
