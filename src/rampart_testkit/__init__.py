"""Test and load tooling shipped beside Rampart, never imported by its runtime: the exchange
simulator (``rampart simulator``) and the soak harness (``rampart soak``)."""
