"""The emulator's model layer: business rules and state on top of ``store``, no HTTP.

One module per service, like moto's ``models.py``: the functions take plain values (the parsed
request), validate them against the service's rules, read and write the store, and return
stored documents. Shaping them into responses is the job of ``responses`` and ``views``.
"""
