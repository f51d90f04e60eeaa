"""Route path convertors: `{id:int}` matches at most 18 digits.

Starlette's `int` takes any number of digits, and an id past BIGINT's range (19 digits)
makes PostgreSQL raise, a 500. With at most 18 digits such an address matches no route:
a plain 404, like any other id that does not exist.

A route compiles its pattern when it is defined, so this must be registered before any
route module runs: importing `shared.web` (as every front's views do) registers it, and
a test checks that every route of the app got it.
"""

from __future__ import annotations

from starlette.convertors import IntegerConvertor, register_url_convertor

MAX_ID_DIGITS = 18


class IdConvertor(IntegerConvertor):
    regex = f"[0-9]{{1,{MAX_ID_DIGITS}}}"


register_url_convertor("int", IdConvertor())
