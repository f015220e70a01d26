"""Domain errors. Services raise these; the API and the console turn them into clear responses."""


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = str(message)
        self.field_errors = {k: [str(m) for m in v] for k, v in (field_errors or {}).items()}

    def as_dict(self) -> dict:
        return {"error": self.code, "message": self.message, "fields": self.field_errors}


class ValidationFailed(DomainError):
    status_code = 422
    code = "validation_failed"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
