"""Training protocols: settings a paper applies to *every* method it compares, baselines included.

A method's own defaults (``MethodSpec.g_steps``) describe the method; a protocol describes an
experiment. Paper 003 (RFGAN) trains all its networks under one protocol, following its reference
code (carpedm20/DCGAN-tensorflow): "the WGAN-GP generator is updated once after the discriminator is
updated five times ... other networks are trained by updating the generator twice and the
discriminator once". Comparing ``dcgan`` with ``dcgan_rf`` is only fair with both arms under it
(``--protocol rfgan``); otherwise the RF arm also gets twice the generator updates.
"""

from __future__ import annotations

from trainables.registry import get_method

PROTOCOLS = ("method", "rfgan")  # "method": each method's own defaults


def protocol_g_steps(method: str, protocol: str | None) -> int:
    """Generator steps per round of critic steps for ``method`` under ``protocol``."""
    if protocol in (None, "", "method"):
        return get_method(method).g_steps
    if protocol == "rfgan":
        # WGAN-GP (and its RF variant) keep 5 critic steps per G step; every other network 2 G steps per D step.
        return 1 if method.startswith("wgan_gp") else 2
    raise ValueError(f"unknown protocol {protocol!r}; valid: {', '.join(PROTOCOLS)}")


def resolve_g_steps(config: dict) -> int:
    """An explicit ``g_steps`` wins; else the protocol's (default: the method's own)."""
    return int(config.get("g_steps") or protocol_g_steps(config["method"], config.get("protocol")))
