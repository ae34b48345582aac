"""Multi-target tracking: batched numpy filters, gating, association, track management, fusion.

Synchronous and pure: detections and their time go in, track states come out. No I/O, no
clock reads, no asyncio. Roles as in Stone Soup, one module each: ``motion`` (models),
``measurement`` (h(x), Jacobians), ``kalman`` (pure predict/update), ``imm``, ``gating``,
``association``, ``initiation``, ``management`` (score-based lifecycle), ``bank`` (the
structure-of-arrays track store) and ``tracker`` (the composition).
"""
