"""Recovery after a killed run: what a provider process does so that no object or key of this
stack is left outside the state, and nothing it cannot prove its own is touched.

Apart from the resource modules (which call into it) and below them; it imports only ``api/``
and what lies below. ``lifeline`` watches the engine, ``ledger`` remembers what this process
handed over and sweeps it after the engine died, ``checkpoint`` reads the stack's last
checkpoint once per process (what a killed run was creating, what the state holds),
``leftovers`` deals with the keys and ``takeover`` with the named objects a killed run left,
``owner`` names the stack in the provider's token (the proof Skyflow's audit log keeps).
"""
