"""stek supply package: the pure stock-flow Monte Carlo projection (docs/supply-model.md).

Public entry points: ``supply.model.SupplyInputs``, ``supply.projection.project`` /
``simulate`` / ``ProjectionSettings``, ``supply.scenario.Scenario`` / ``compare``,
``supply.inputs.inputs_from_records`` and ``supply.pacing`` (``run_year``, ``hindsight``,
``budget_targets``, ``dual_prices``). The month step runs compiled (``supply.kernel``, numba)
with ``supply.engine`` as the NumPy reference. No database, web or plotting imports here.
"""
