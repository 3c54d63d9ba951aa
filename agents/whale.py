"""Whales: build a directional position as large as the schedule lets their equity carry."""

from __future__ import annotations

import mesa
import numpy as np

from sim.config import WhaleConfig


class Whale(mesa.Agent):
    """Builds, holds and unwinds a directional position, optionally across several accounts.

    Each account is sized on its own equity: splitting keeps every account in a lower tier, where
    leverage is higher. With ``hunt``, the whale picks the side whose nearby retail liquidation
    prices hold the most notional and leans on it.
    """

    def __init__(self, model: mesa.Model, config: WhaleConfig):
        super().__init__(model)
        self.config = config
        share = config.capital / config.split_accounts
        self.accounts = [
            model.exchange.open_account(owner=self.unique_id, kind="whale", entity=self.unique_id, deposit=share)
            for _ in range(config.split_accounts)
        ]
        self.phase = "build"
        self.phase_step = 0
        self.direction = int(model.rng.choice([-1, 1]))
        self.targets = np.zeros(len(self.accounts))

    def target_notional(self, account: int) -> float:
        """The notional this account aims for: ``leverage_use`` of what its equity can carry on the
        whale's side (the schedule's limit, after fees), before rounding to lots."""
        capacity = self.model.exchange.position_capacity(np.array([account]), np.array([self.direction]))
        return self.config.leverage_use * float(capacity[0])

    def choose_direction(self) -> int:
        """Random, or with ``hunt`` the side whose retail liquidation cluster near the mark is larger."""
        if not self.config.hunt:
            return int(self.model.rng.choice([-1, 1]))
        below, above = self.model.liquidation_fuel(within=0.03)
        return -1 if below >= above else 1

    def step(self) -> None:
        exchange = self.model.exchange
        cfg = self.config
        steps = max(1, cfg.build_steps // (4 if cfg.hunt else 1))
        if self.phase == "build":
            if self.phase_step == 0:
                self.targets = np.array([self.target_notional(a) for a in self.accounts])
            remaining_steps = max(steps - self.phase_step, 1)
            for account, target in zip(self.accounts, self.targets):
                held = abs(exchange.position(account)) * exchange.mark
                want = (target - held) / remaining_steps
                size = min(want / exchange.mark, exchange.max_order_size(account, self.direction))
                if size > 0:
                    exchange.submit_market_order(account, self.direction * size)
            self._advance(steps, "hold")
        elif self.phase == "hold":
            self._advance(cfg.hold_steps // (4 if cfg.hunt else 1), "unwind")
        else:
            remaining_steps = max(steps - self.phase_step, 1)
            for account in self.accounts:
                position = exchange.position(account)
                if position:
                    exchange.submit_market_order(account, -position / remaining_steps, reduce_only=True)
            if self._advance(steps, "build"):
                self.direction = self.choose_direction()

    def _advance(self, length: int, next_phase: str) -> bool:
        self.phase_step += 1
        if self.phase_step >= length:
            self.phase, self.phase_step = next_phase, 0
            return True
        return False
