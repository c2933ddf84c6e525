"""Every destination, registered by name: the one list dispatch, `make run` and Terraform's
checks read. A destination is declared in its own module (a `Destination`: name, age limit,
whether Google receives it, request builder); adding one is that module, one line here, and
its Terraform (see docs/development.md).
"""

from __future__ import annotations

from shared.ads_client import GOOGLE_ADS
from shared.hits.ga4 import GA4, OWOX_GA4
from shared.hits.outbound import Destination
from shared.hits.ua import OWOX, UA

DESTINATIONS: dict[str, Destination] = {
    destination.name: destination for destination in (OWOX, UA, GA4, OWOX_GA4, GOOGLE_ADS)
}
