"""Local stand-ins for the paid services TVDb calls: OpenAI embeddings, LlamaParse, Supabase Storage.

What an operator uses them for
------------------------------
* Running the whole pipeline on a laptop or in CI without keys, network or spend: ``tvdb emulate`` starts all
  three on 127.0.0.1 and prints the environment variables that point the product at them.
* Rehearsing bad days: every emulator has the same knobs (latency, 500 error rate, timeouts, malformed bodies,
  outage windows, rate limits with ``Retry-After``, out-of-quota/credit answers, a quota cap), settable at start-up
  and at run time with ``POST /_emulator/config``, deterministic under ``seed``.
* Checking the bill: each emulator records what the real provider would have charged (OpenAI tokens per request,
  LlamaParse credits per job with cache hits at 0, Supabase bytes stored and served) at ``GET /_emulator/billing``,
  so the product's cost ledger can be compared with it exactly.

They speak the real wire protocols closely enough that the official SDKs (``openai``, ``llama_cloud`` 2.x,
``supabase``/``storage3``) work unchanged with only the base URL changed. Content is deterministic: parsed text comes
from the project's local parser, vectors from its feature-hash embedder, token counts from cl100k_base.

Admin API (every emulator, never faulted or rate limited)::

    GET  /_emulator/config      knobs (key masked) and the scripted faults still queued
    POST /_emulator/config      JSON object of knobs to change; {"outage_for_s": 5} starts a 5 s outage now
    POST /_emulator/reset       forget billing, requests, jobs, objects; restore start-up knobs ({"keep_knobs": true})
    POST /_emulator/clock       {"advance_s": 172800}: move the emulator clock (cache expiry, job progress, limits)
    GET  /_emulator/billing     {"unit", "totals": {...}, "rows": [...]}
    GET  /_emulator/requests    what was asked, answered, and which fault was injected
    GET  /_emulator/routes      route names, for the ``fault_routes`` knob
    GET  /_emulator/knobs       every knob with its default and what it does

In tests: ``tvdb_emulators.server.start_openai()`` (and ``start_llamaparse``, ``start_supabase``) or the pytest
fixtures in ``tvdb_emulators.testing``.
"""

