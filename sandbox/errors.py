"""HighLevel's error bodies: ``{"statusCode": 4xx, "message": ..., "error": ...}``."""

from http import HTTPStatus

from django.http import JsonResponse


class ApiError(Exception):
    """Raised by handlers; the dispatcher turns it into HighLevel's error body."""

    def __init__(self, status: int, message):
        super().__init__(str(message))
        self.status = status
        self.message = message


def error_body(*, status: int, message) -> dict:
    return {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}


def error_response(*, status: int, message) -> JsonResponse:
    return JsonResponse(error_body(status=status, message=message), status=status)


def not_found(*, op, what: str) -> ApiError:
    """HighLevel answers a missing resource 400 where the operation documents no 404."""
    return ApiError(404 if 404 in op.responses else 400, f"{what} not found")
