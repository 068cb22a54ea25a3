"""The specification's example workflows (examples-1.0) against loopback servers.

Each test serves the operations the example calls, runs the example (copied into a temporary
folder only where a remote source URL must point at a local description), and checks both the
outputs and what the server really received.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from aiohttp import web

from tests.conftest import shared_path
from tests.engine.helpers import MemoryRecorder, copy_example, recording_app, serve
from weft.api import run_async
from weft.effects.clock import ManualClock
from weft.errors import DocumentError

EXAMPLES = ("reference", "arazzo", "examples-1.0")


def _example(name: str) -> Path:
    return shared_path(*EXAMPLES, name)


def _with_openapi(tmp: Path, arazzo: str, openapi: str, replace: dict[str, str]) -> Path:
    shutil.copy(_example(openapi), tmp / openapi)
    return copy_example(_example(arazzo), tmp, replace)


# -- pet-coupons ---------------------------------------------------------------------------------


def _petstore() -> tuple[web.Application, list]:  # type: ignore[type-arg]
    app, seen = recording_app()

    async def by_status(request: web.Request) -> web.Response:
        return web.json_response([{"id": 42, "name": "rex"}, {"id": 43, "name": "fido"}])

    async def by_tags(request: web.Request) -> web.Response:
        return web.json_response([{"id": 77, "tags": request.query.getall("tags", [])}])

    async def coupons(request: web.Request) -> web.Response:
        return web.json_response({"couponCode": f"SAVE-{request.match_info['petId']}"})

    async def order(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"id": 1000 + body["petId"], "status": body["status"]})

    app.router.add_get("/pet/findByStatus", by_status)
    app.router.add_get("/pet/findByTags", by_tags)
    app.router.add_get("/pet/{petId}/coupons", coupons)
    app.router.add_post("/store/order", order)
    return app, seen


async def test_pet_coupons_buy_available_pet_with_component_parameters() -> None:
    app, seen = _petstore()
    async with serve(app) as base:
        result = await run_async(
            _example("pet-coupons.arazzo.yaml"),
            "buy-available-pet",
            {"store_id": "pets.example.com"},
            servers={"pet-coupons": base},
            clock=ManualClock(),
            auth={"petstore_auth": "pet-token"},  # the description's oauth2 scheme
        )
    assert result.status == "succeeded", result.error
    assert result.outputs == {"buy_pet_order_id": 1042}
    assert [(s.method, s.path, s.query) for s in seen] == [
        ("GET", "/pet/findByStatus", "status=available&page=1&pageSize=10"),
        ("POST", "/store/order", ""),
    ]
    # absent inputs (quantity, coupon_code) are left out of the payload, not sent as null
    assert seen[1].json == {"petId": 42, "status": "placed", "complete": False}
    assert seen[1].headers["Content-Type"] == "application/json"
    assert seen[0].headers["Authorization"] == "Bearer pet-token"
    # the workflow step's criteria read the child's last status code
    assert [s.step_id for s in result.steps] == ["find-pet", "place-order", "place-order"]


async def test_pet_coupons_apply_coupon_as_written_fails_before_sending_find_coupons() -> None:
    # The example names its parameters pet_tags / pet_id, but the operations declare
    # tags / petId: the path parameter petId has no value, so that request is never sent.
    app, seen = _petstore()
    async with serve(app) as base:
        result = await run_async(
            _example("pet-coupons.arazzo.yaml"),
            "apply-coupon",
            {"my_pet_tags": ["dog", "small"]},
            servers={"pet-coupons": base},
            clock=ManualClock(),
            auth={"petstore_auth": "pet-token"},  # the description's oauth2 scheme
        )
    assert result.status == "failed"
    assert result.error is not None and result.error.step == "find-coupons"
    assert "petId" in result.error.reason
    assert [(s.path, s.query) for s in seen] == [
        ("/pet/findByTags", "pet_tags=dog&pet_tags=small"),
    ]
    assert "apply_coupon_pet_order_id" in result.output_errors


async def test_pet_coupons_apply_coupon_with_parameter_names_fixed(tmp_path: Path) -> None:
    doc = _with_openapi(
        tmp_path,
        "pet-coupons.arazzo.yaml",
        "pet-coupons.openapi.yaml",
        {"name: pet_tags": "name: tags", "name: pet_id\n            in: path": "name: petId"},
    )
    app, seen = _petstore()
    async with serve(app) as base:
        result = await run_async(
            doc,
            "apply-coupon",
            {"my_pet_tags": ["dog", "small"]},
            servers={"pet-coupons": base},
            clock=ManualClock(),
            auth={"petstore_auth": "pet-token"},  # the description's oauth2 scheme
        )
    assert result.status == "succeeded", result.error
    assert result.outputs == {"apply_coupon_pet_order_id": 1077}
    assert [(s.method, s.path, s.query) for s in seen] == [
        ("GET", "/pet/findByTags", "tags=dog&tags=small"),
        ("GET", "/pet/77/coupons", ""),
        ("POST", "/store/order", ""),
    ]
    assert seen[2].json == {
        "petId": 77,
        "couponCode": "SAVE-77",
        "status": "placed",
        "complete": False,
    }


# -- oauth ---------------------------------------------------------------------------------------


def _oauth_server() -> tuple[web.Application, list]:  # type: ignore[type-arg]
    app, seen = recording_app()

    async def authorize(request: web.Request) -> web.Response:
        q = request.query
        return web.json_response({"code": f"code-for-{q['client_id']}", "access_token": "pre"})

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        grant = form["grant_type"]
        if grant == "authorization_code":
            if form["code"] != "code-for-cid":
                return web.json_response({"error": "invalid_grant"}, status=400)
            return web.json_response(
                {"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600}
            )
        if grant == "refresh_token":
            rt = form["refresh_token"]
            return web.json_response(
                {"access_token": f"at-from-{rt}", "refresh_token": "rt-2", "expires_in": 60}
            )
        if grant == "client_credentials":
            return web.json_response({"access_token": f"cc-{form['client_id']}"})
        return web.json_response({"error": "unsupported_grant_type"}, status=400)

    app.router.add_get("/authorize", authorize)
    app.router.add_post("/oauth/token", token)
    return app, seen


async def test_oauth_refresh_token_flow_runs_nested_authorization_code_flow() -> None:
    app, seen = _oauth_server()
    inputs = {"my_client_id": "cid", "my_client_secret": "shh", "my_redirect_uri": "https://cb/x"}
    async with serve(app) as base:
        result = await run_async(
            _example("oauth.arazzo.yaml"),
            "refresh-token-flow",
            inputs,
            servers={"apim-auth": base},
            clock=ManualClock(),
        )
    assert result.status == "succeeded", result.error
    assert result.outputs == {
        "access_token": "at-from-rt-1",
        "refresh_token": "rt-2",
        "expires_in": 60,
    }
    assert [(s.method, s.path) for s in seen] == [
        ("GET", "/authorize"),
        ("POST", "/oauth/token"),
        ("POST", "/oauth/token"),
    ]
    assert seen[0].query == (
        "client_id=cid&redirect_uri=https%3A%2F%2Fcb%2Fx&response_type=code&scope=read&state=12345"
    )
    assert seen[1].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert seen[1].form == {
        "grant_type": ["authorization_code"],
        "code": ["code-for-cid"],
        "redirect_uri": ["https://cb/x"],
        "client_id": ["cid"],
        "client_secret": ["shh"],
    }
    assert seen[2].form == {"grant_type": ["refresh_token"], "refresh_token": ["rt-1"]}
    steps = {(s.workflow_id, s.step_id): s for s in result.steps}
    assert steps[("refresh-token-flow", "do-the-auth-flow")].outputs == {"my_refresh_token": "rt-1"}


async def test_oauth_client_credentials_flow() -> None:
    app, seen = _oauth_server()
    async with serve(app) as base:
        result = await run_async(
            _example("oauth.arazzo.yaml"),
            "client-credentials-flow",
            {"client_id": "svc", "client_secret": "s3"},
            servers={"apim-auth": base},
        )
    assert result.status == "succeeded", result.error
    assert result.outputs == {"access_token": "cc-svc"}
    assert len(seen) == 1
    assert seen[0].form == {
        "client_id": ["svc"],
        "client_secret": ["s3"],
        "grant_type": ["client_credentials"],
    }


# -- FAPI-PAR ------------------------------------------------------------------------------------


FAPI_INPUTS = {
    "client_id": "tpp-1",
    "client_assertion": {"iss": "tpp-1", "aud": "https://as"},
    "redirect_uri": "https://tpp/cb",
    "code_verifier": "verifier-123",
    "PARrequestBody": {"response_type": "code", "scope": "openid accounts", "state": "s1"},
    "TokenRequestBody": {
        "grant_type": "authorization_code",
        "code": "placeholder",
        "redirect_uri": "https://tpp/cb",
        "code_verifier": "verifier-123",
    },
}


def test_fapi_par_as_written_names_an_operation_that_does_not_exist() -> None:
    # operationId PAR; the description declares Par (operation ids are case-sensitive)
    with pytest.raises(DocumentError, match="'PAR' not found in source 'auth-api'"):
        import asyncio

        asyncio.run(run_async(_example("FAPI-PAR.arazzo.yaml"), inputs=FAPI_INPUTS))


async def test_fapi_par_authorization_code_flow_keeps_the_302(tmp_path: Path) -> None:
    doc = _with_openapi(
        tmp_path,
        "FAPI-PAR.arazzo.yaml",
        "FAPI-PAR.openapi.yaml",
        {"auth-api.PAR\n": "auth-api.Par\n"},
    )
    app, seen = recording_app()

    async def par(request: web.Request) -> web.Response:
        return web.json_response({"request_uri": "urn:par:abc", "expires_in": 60})

    async def authorize(request: web.Request) -> web.Response:
        # a 302 the workflow checks for; the engine must not follow it
        return web.json_response(
            {"code": "authz-code-9"},
            status=302,
            headers={"Location": str(request.url.with_path("/cb").with_query(code="x"))},
        )

    async def token(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"access_token": "fapi-at", "code": body["code"]})

    async def callback(request: web.Request) -> web.Response:
        return web.json_response({"unexpected": True})

    app.router.add_post("/as/par.oauth2", par)
    app.router.add_get("/as/authorize.oauth2", authorize)
    app.router.add_post("/as/token.oauth2", token)
    app.router.add_get("/cb", callback)
    async with serve(app) as base:
        result = await run_async(doc, inputs=FAPI_INPUTS, servers={"auth-api": base})
    assert result.status == "succeeded", result.error
    assert result.outputs == {"access_token": {"access_token": "fapi-at", "code": "authz-code-9"}}
    assert [(s.method, s.path) for s in seen] == [
        ("POST", "/as/par.oauth2"),
        ("GET", "/as/authorize.oauth2"),
        ("POST", "/as/token.oauth2"),
    ]
    jwt_bearer = "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
    # client_assertion is declared with `content: application/json`: one JSON-encoded value
    assertion = "%7B%22iss%22%3A%22tpp-1%22%2C%22aud%22%3A%22https%3A%2F%2Fas%22%7D"
    assert seen[0].query == f"client_id=tpp-1&{jwt_bearer}&client_assertion={assertion}"
    assert seen[0].headers["Content-Type"] == "application/json"
    assert seen[0].json == FAPI_INPUTS["PARrequestBody"]
    assert seen[1].query == "request_uri=urn%3Apar%3Aabc&client_id=tpp-1"
    assert seen[2].json == {
        "grant_type": "authorization_code",
        "code": "authz-code-9",
        "redirect_uri": "https://tpp/cb",
        "code_verifier": "verifier-123",
    }
    assert list(result.steps[1].status_codes) == [302]


# -- BNPL ----------------------------------------------------------------------------------------


BNPL_LOCAL = {
    "https://raw.githubusercontent.com/OAI/Arazzo-Specification/main/examples/1.0.0/"
    "bnpl-openapi.yaml": "./bnpl-openapi.yaml"
}
BNPL_PRODUCTS = [{"productCode": "TV-1", "purchaseAmount": {"currency": "EUR", "amount": 499.0}}]
BNPL_CUSTOMER = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "dateOfBirth": "1990-12-10T00:00:00Z",
    "postalCode": "N1 9GU",
}


def _bnpl_server(eligibility: dict) -> tuple[web.Application, list]:  # type: ignore[type-arg]
    app, seen = recording_app()

    async def products(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({**eligibility, "products": body["products"]})

    async def terms(request: web.Request) -> web.Response:
        return web.json_response({"url": "https://bnpl/terms"})

    async def customers(request: web.Request) -> web.Response:
        return web.json_response({"links": {"self": "https://bnpl/customers/c-1"}}, status=201)

    async def transactions(request: web.Request) -> web.Response:
        return web.json_response(
            {"redirectAuthToken": None, "links": {"self": "https://bnpl/loan-transactions/t-1"}},
            status=202,
        )

    async def plan(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["id"], "installments": 4})

    app.router.add_post("/bnpl/v1/products", products)
    app.router.add_get("/bnpl/v1/terms-and-conditions", terms)
    app.router.add_post("/bnpl/v1/customers", customers)
    app.router.add_post("/bnpl/v1/loan-transactions", transactions)
    app.router.add_get("/bnpl/v1/loan-transactions/{id}", plan)
    return app, seen


async def test_bnpl_end_action_when_existing_customer_flag_is_false(tmp_path: Path) -> None:
    doc = _with_openapi(tmp_path, "bnpl-arazzo.yaml", "bnpl-openapi.yaml", BNPL_LOCAL)
    app, seen = _bnpl_server({"existingCustomerNotEligible": False})
    async with serve(app) as base:
        result = await run_async(
            doc,
            inputs={"customer": BNPL_CUSTOMER, "products": BNPL_PRODUCTS},
            servers={"BnplApi": base + "/bnpl/v1"},
        )
    assert [(s.method, s.path) for s in seen] == [("POST", "/bnpl/v1/products")]
    # the JSON-string payload keeps "{$inputs.customer}" an object, not its text
    assert seen[0].json == {"customer": BNPL_CUSTOMER, "products": BNPL_PRODUCTS}
    # ended by `existingCustomerNotEligible` before the output's step ran: reported, not null
    assert result.status == "failed"
    assert result.error is not None and result.error.step == "checkLoanCanBeProvided"
    assert "existingCustomerNotEligible" in result.error.reason
    assert "finalizedPaymentPlan" in result.output_errors


async def test_bnpl_new_customer_path_through_goto_actions(tmp_path: Path) -> None:
    # The example's `qualifyingProductsFound` uses `$[?count(@.products) > 0]` against the
    # response body: under RFC 9535 that filters the body's members, none of which has a
    # `products` member, so weft reads it as "not found" and the example ends there.
    # A body whose member carries `products` is what the condition matches.
    doc = _with_openapi(tmp_path, "bnpl-arazzo.yaml", "bnpl-openapi.yaml", BNPL_LOCAL)
    eligibility = {
        "existingCustomerNotEligible": True,
        "eligibilityCheckRequired": True,
        "totalAmount": {"currency": "EUR", "amount": 499.0},
        "basket": {"products": ["TV-1"]},
    }
    app, seen = _bnpl_server(eligibility)
    async with serve(app) as base:
        result = await run_async(
            doc,
            inputs={"customer": BNPL_CUSTOMER, "products": BNPL_PRODUCTS},
            servers={"BnplApi": base + "/bnpl/v1"},
        )
    paths = [(s.method, s.path) for s in seen]
    assert paths == [
        ("POST", "/bnpl/v1/products"),
        ("GET", "/bnpl/v1/terms-and-conditions"),
        ("POST", "/bnpl/v1/customers"),
        ("POST", "/bnpl/v1/loan-transactions"),
    ]
    assert seen[2].json == {**BNPL_CUSTOMER, "termsAndConditionsAccepted": True}
    # enrolledCustomer ($inputs.customer#/uri) has no value and is left out
    assert seen[3].json == {
        "newCustomer": "https://bnpl/customers/c-1",
        "products": BNPL_PRODUCTS,
    }
    # retrieveFinalizedPaymentPlan reads $steps.initiateBnplTransaction.outputs.loanTransactionId,
    # an output that step does not define: the path parameter has no value, nothing is sent.
    assert result.status == "failed"
    assert result.error is not None and result.error.step == "retrieveFinalizedPaymentPlan"
    assert "loanTransactionId" in result.error.reason


# -- LoginAndRetrievePets (remote description: a generated local one) ---------------------------

PETSTORE = """
openapi: 3.0.3
info: {title: petstore, version: '1'}
servers: [{url: 'https://petstore.example.invalid/api/v3'}]
paths:
  /user/login:
    get:
      operationId: loginUser
      parameters:
        - {name: username, in: query, schema: {type: string}}
        - {name: password, in: query, schema: {type: string}}
      responses:
        '200':
          description: ok
          headers:
            X-Rate-Limit: {schema: {type: integer}}
            X-Expires-After: {schema: {type: string}}
          content: {application/json: {schema: {type: string}}}
  /pet/findByStatus:
    get:
      operationId: findPetsByStatus
      parameters:
        - {name: status, in: query, schema: {type: string}}
      responses:
        '200': {description: ok}
"""


PETSTORE_URL = (
    "https://raw.githubusercontent.com/swagger-api/swagger-petstore/master/src/main/"
    "resources/openapi.yaml"
)


async def test_login_and_retrieve_pets_operation_path_without_method_is_a_clear_error(
    tmp_path: Path,
) -> None:
    # The example's operationPath stops at the path item (…/~1pet~1findByStatus, no /get).
    (tmp_path / "petstore.yaml").write_text(PETSTORE)
    doc = copy_example(
        _example("LoginAndRetrievePets.arazzo.yaml"), tmp_path, {PETSTORE_URL: "./petstore.yaml"}
    )
    with pytest.raises(DocumentError, match="is not '/paths/<path>/<method>'"):
        await run_async(doc, inputs={"username": "a", "password": "b"})


async def test_login_and_retrieve_pets_with_operation_path(tmp_path: Path) -> None:
    (tmp_path / "petstore.yaml").write_text(PETSTORE)
    doc = copy_example(
        _example("LoginAndRetrievePets.arazzo.yaml"),
        tmp_path,
        {PETSTORE_URL: "./petstore.yaml", "~1pet~1findByStatus'": "~1pet~1findByStatus/get'"},
    )
    app, seen = recording_app()

    async def login(request: web.Request) -> web.Response:
        return web.Response(
            text='"session-abc"',
            content_type="application/json",
            headers={"X-Rate-Limit": "100", "X-Expires-After": "2030-01-01T00:00:00Z"},
        )

    async def by_status(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "session-abc":
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response([{"id": 1, "status": request.query["status"]}])

    app.router.add_get("/api/v3/user/login", login)
    app.router.add_get("/api/v3/pet/findByStatus", by_status)
    async with serve(app) as base:
        result = await run_async(
            doc,
            inputs={"username": "ada", "password": "p@ss word"},
            servers={"petStoreDescription": base + "/api/v3"},
        )
    assert result.status == "succeeded", result.error
    assert result.outputs == {"available": [{"id": 1, "status": "available"}]}
    assert seen[0].query == "username=ada&password=p%40ss%20word"
    assert seen[1].query == "status=available"
    assert seen[1].headers["Authorization"] == "session-abc"
    login_out = result.steps[0].outputs
    assert login_out["rateLimit"] == "100"
    assert login_out["tokenExpires"] == "2030-01-01T00:00:00Z"


# -- ExtendedParametersExample (no description shipped: a generated one) ------------------------

ANIMALS = """
openapi: 3.1.0
info: {title: zoo, version: '1'}
servers: [{url: 'https://zoo.example.invalid'}]
paths:
  /animals:
    post:
      operationId: postAnimal
      responses: {'201': {description: created}}
  /animals/random:
    get:
      operationId: getRandomAnimal
      responses: {'200': {description: ok}}
"""


async def test_extended_parameters_cookie_and_header_inherited_from_workflow(
    tmp_path: Path,
) -> None:
    (tmp_path / "animals.yaml").write_text(ANIMALS)
    doc = tmp_path / "ExtendedParametersExample.arazzo.yaml"
    shutil.copy(_example(doc.name), doc)
    app, seen = recording_app()

    async def post(request: web.Request) -> web.Response:
        return web.json_response({"id": 5}, status=201)

    async def random(request: web.Request) -> web.Response:
        return web.json_response({"name": "okapi"})

    app.router.add_post("/animals", post)
    app.router.add_get("/animals/random", random)
    recorder = MemoryRecorder()
    async with serve(app) as base:
        result = await run_async(doc, servers={"animals": base}, recorder=recorder)
    assert result.status == "succeeded", result.error
    assert [(s.method, s.path) for s in seen] == [("POST", "/animals"), ("GET", "/animals/random")]
    assert seen[0].cookies == {
        "workflowLevelParamOne": "someValue",
        "authentication": "SUPER_SECRET",
    }
    assert seen[0].headers["workflowLevelParamTwo"] == "someValue"
    assert seen[1].cookies == {"workflowLevelParamOne": "someValue"}
    assert seen[1].headers["workflowLevelParamTwo"] == "someValue"
    # cookie values are secrets: never in what the recorder keeps
    assert "SUPER_SECRET" not in repr(recorder.calls)
