"""Who is calling: a machine's token or a person signed in at an identity provider, as one `Principal`."""

import uuid
from dataclasses import dataclass
from enum import StrEnum

from service.core.errors import Problem

# The namespace of a person's stable id: uuid5 of their issuer and `sub`.
PERSON_NAMESPACE = uuid.UUID("4c1f1d2e-6f0b-5b8e-9a51-0b9d3c7a2e10")


class Role(StrEnum):
    agency = "agency"  # bound to one institution
    admin = "admin"  # the ministry: may do everything
    seed = "seed"  # the seed loader (`python -m service seed`); no credential has this role


@dataclass(frozen=True)
class Principal:
    """The caller: role and institution, and either the token's id or the person (issuer, `sub`, name)."""

    token_id: uuid.UUID | None  # None for a person, and for SEED, which acts from the command line
    role: Role
    institution_id: uuid.UUID | None
    institution_code: str | None
    issuer: str | None = None
    subject: str | None = None
    name: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def key(self) -> uuid.UUID | None:
        """One id per caller, whichever its credential: rate limits and idempotency keys are kept under it."""
        if self.token_id is not None or self.subject is None:
            return self.token_id
        return uuid.uuid5(PERSON_NAMESPACE, f"{self.issuer} {self.subject}")

    def describe(self) -> str:
        return f"{self.role.value}:{self.institution_code or '-'}"

    def signature(self) -> str:
        """Who acted, for the people who read it: the role, and the person's name (else `sub`) or the token's id."""
        who = self.name or self.subject or (f"token {self.token_id}" if self.token_id else None)
        return f"{self.describe()} ({who})" if who else self.describe()


SEED = Principal(token_id=None, role=Role.seed, institution_id=None, institution_code=None)


class Unauthorized(Problem):
    def __init__(self, detail: str):
        super().__init__(401, detail, headers={"WWW-Authenticate": 'Bearer realm="api"'})


class Forbidden(Problem):
    def __init__(self, detail: str):
        super().__init__(403, detail)


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("Only an admin may do this.")
