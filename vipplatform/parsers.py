from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering bad JSON in Chinese with where it broke (DRF passes on
    Python's English message), and a body nested deeper than Python's recursion limit as bad
    input (400) rather than a RecursionError (500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON 嵌套层级过深") from None
        except ParseError as exc:
            cause = exc.__context__
            where = f"（第{cause.lineno}行第{cause.colno}列）" if hasattr(cause, "lineno") else ""
            raise ParseError(f"请求体不是有效的JSON{where}") from None
