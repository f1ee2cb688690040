"""stek supply package: the pure stock-flow Monte Carlo projection (docs/supply-model.md).

Public entry points: ``supply.model.SupplyInputs``, ``supply.projection.project`` /
``simulate`` / ``ProjectionSettings``, ``supply.scenario.Scenario`` / ``compare``, and
``supply.inputs.inputs_from_records``. No database, web or plotting imports here.
"""
