"""HTTP routes, one module per audience: participants, operators (audit, messages,
deliveries, routing, admin), service endpoints."""
