"""Bad input at every entry point: hypothesis fuzzing for the reliability campaign.

Every way something from outside reaches the kiosk gets arbitrary input here, one test file
per entry point: phone numbers, amounts, card ids and dates as people type them (and at the
service that takes them), bytes from serial card readers and reader URLs
(`test_readers.py`), config files and `-o` overrides (`test_config.py`), the CRM's answers
over real HTTP on loopback (`test_crm_answers.py`, and the pulled changes in
`test_pulled.py`) and `kiosk` command lines (`test_cli.py`). Each test states:

- the input is taken, or refused with the error the entry point promises (a `KioskError`
  whose text is not empty and whose key is in both catalogues; a `ConfigError` listing its
  problems; a `CrmError`; a `ReaderUrlError`), never any other exception;
- a refusal writes nothing (the database file, read by a second connection, is the same
  before and after), and what the CRM says is never half-applied.

Defects. Every way the product was found to break has a test of its own, in the file of its
entry point, showing it with one input, and an entry in `KNOWN_DEFECTS` (`defects.py`: what
it raised, where, why; `test_defects.py` checks each has its test). While a defect is open
its test is `xfail(strict=True)` and the fuzzing tests tolerate exactly that exception from
that place, counting how often they meet it; once it is fixed (`fixed=True`) the test is a
plain regression test and nothing is tolerated. A fix without `fixed=True` fails the suite
(a strict xpass).

Shared: `defects.py` (the defects, the hypothesis settings, `attempt` and the counts),
`database.py` (a kiosk database to work on, and its fingerprint), `typed_text.py` (text as
people type it), `crm.py` (the fuzzing CRM on loopback) and `answers.py` (what it answers).

Environment: `KIOSK_FUZZ_EXAMPLES` (inputs per test, default 30: the package runs in well
under a minute), `KIOSK_FUZZ_COUNTS` (a JSON file to write the inputs tried per entry point
and the known defects met into; `tests/torture/fuzz.py` reads it).
"""
