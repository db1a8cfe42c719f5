"""Runs the claims check needs beyond the paper's tables, declared as a protocol like the tables.

§5.1 attributes UMCL's cross-compression performance "largely" to CQSL; no table of the paper
trains UMCL without CQSL across compressions (Figure 8's ``woCQSL`` is trained on Deepfakes at c23
only). Claim T3-drop (umcl.report.claims) compares UMCL's in- to cross-compression drop with that
of UMCL trained without CQSL (variant ``woCQSL``, umcl.protocols.variants) on Table 3's grid: one
run per training compression, tested on every test compression. Seeds: ``workflow.table_seeds.claims``
(else ``workflow.seeds``); the default profile trains one seed.
"""

from __future__ import annotations

from umcl.protocols.keys import Selection
from umcl.protocols.spec import CellDecl, Model, Protocol
from umcl.specs.vocab import COMPRESSIONS

#: the protocol's name in the job sheet and in ``workflow.table_seeds``
CLAIMS_RUNS = "claims"
#: the row label of UMCL trained without CQSL (rows are (training compression, label), as Table 3's)
WITHOUT_CQSL = "UMCL w/o CQSL"


def claims_protocol() -> Protocol:
    """UMCL without CQSL trained on FF++ at each compression, tested on each (Table 3's grid)."""
    model = Model("umcl", "woCQSL")
    cells = tuple(
        CellDecl((train, WITHOUT_CQSL), (test,), model, Selection("ff++", train), Selection("ff++", test))
        for train in COMPRESSIONS
        for test in COMPRESSIONS
    )
    return Protocol(
        CLAIMS_RUNS,
        "Runs the claims check adds: UMCL without CQSL across compressions",
        cells,
        follows_profile_compressions=True,
    )


#: the claims' own protocols, by name (umcl.protocols.sheet adds them to every job sheet)
CLAIM_PROTOCOLS: dict[str, Protocol] = {CLAIMS_RUNS: claims_protocol()}
