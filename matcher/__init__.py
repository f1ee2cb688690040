"""Pure allocation logic: problem objects, eligibility rules, scoring, flow core, verifier."""
