"""Pollers: ask devices (UPS, climate probes) on a schedule and turn answers into observations."""
