"""Every call to a payment provider, recorded (`ProviderCall`): what was asked about which
order, the outcome, the provider's code, how long it took. The services make each call inside
`provider_call`; a call made inside a transaction that rolls back leaves no row (the services
call providers outside their transactions)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .exceptions import GatewayUnavailable
from .gateways import PaymentAlreadyMade, Provider
from .models import ProviderCall


@dataclass
class Call:
    code: str = ""  # what the provider answered, as the caller reads it


@contextmanager
def provider_call(provider: Provider, kind: str, order_number: str) -> Iterator[Call]:
    call = Call()
    outcome = ProviderCall.Outcome.OK
    started = time.monotonic()
    try:
        yield call
    except PaymentAlreadyMade:
        outcome = ProviderCall.Outcome.ALREADY_PAID
        raise
    except GatewayUnavailable as exc:
        outcome, call.code = ProviderCall.Outcome.UNAVAILABLE, str(exc.message)
        raise
    except Exception as exc:
        outcome, call.code = ProviderCall.Outcome.ERROR, type(exc).__name__
        raise
    finally:
        ProviderCall.objects.create(
            provider=provider.name,
            kind=kind,
            order_number=order_number,
            outcome=outcome,
            code=call.code[:100],
            duration_ms=round((time.monotonic() - started) * 1000),
        )
