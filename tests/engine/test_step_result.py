"""StepResult keeps the most recent MAX_CODES status codes in a plain list."""

from __future__ import annotations

from weft.engine.result import MAX_CODES, StepResult


def test_status_codes_keep_the_most_recent() -> None:
    sr = StepResult("s", "w")
    for code in range(MAX_CODES + 7):
        sr.add_code(code)
    assert sr.status_codes == list(range(7, MAX_CODES + 7))
    assert sr.to_dict()["statusCodes"] == sr.status_codes
    again = StepResult.from_dict({**sr.to_dict(), "statusCodes": list(range(MAX_CODES * 2))})
    assert again.status_codes == list(range(MAX_CODES, MAX_CODES * 2))
