"""The figures behind the owner's panel: the dashboard, the reports and their CSV downloads.

Plain functions over the hub's tables (no HTTP, no templates), each returning frozen
dataclasses and each scoped by a `Scope`: the branches the reader may see (a branch
manager sees only theirs) and the chain's time zone, in which days begin and end. The
panel's views (hub/panel/insights/) only call these and render what they return.

What the figures count, once for all of them:

- An entry counts when the hub stored it (`status = 'stored'`), on the day of its
  `created_at` (when it happened at the counter) in the chain's time zone, at the branch
  of the device that made it.
- A purchase is an `earn` entry; a void (a `reversal` carrying an amount) takes it back
  on the day of the void, as the ledger has it.
- A visit is a member at a branch on a day with a purchase or a redemption.
- Points issued: `earn`, `bonus` and `adjust` entries, less voided purchases; points
  redeemed: `redeem` entries, less voided redemptions; the redemption rate is the one over
  the other, in the period.
- A merged member id (`Member.merged_into`) counts as its survivor; an erased member is
  still a member, with no personal data.
- A member belongs to each branch they use (`hub_branch_member`, as the feed decides):
  per-branch member figures may add up to more than the chain's.
"""
