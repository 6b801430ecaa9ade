"""Simulated participant systems (INTERPOL side and GCC side) that are part of the product:
the demo, the integration tests and the benchmarks deliver to them over real HTTP.
See docs/simulators.md."""

from gateway.simulators.client import post_notice
from gateway.simulators.gateway_keys import GatewayKeys, keys_from_jwks
from gateway.simulators.identity import ROSTER, IdentityError, SimulatorIdentity, load_identity
from gateway.simulators.inbox import MODES, InboxError, Mode, Received, read_delivery
from gateway.simulators.server import Simulator

__all__ = [
    "MODES",
    "ROSTER",
    "GatewayKeys",
    "IdentityError",
    "InboxError",
    "Mode",
    "Received",
    "Simulator",
    "SimulatorIdentity",
    "keys_from_jwks",
    "load_identity",
    "post_notice",
    "read_delivery",
]
