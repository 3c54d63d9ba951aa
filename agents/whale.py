"""Whales: a population of large traders, each on its own clock.

Each whale has its own capital (Pareto-distributed across whales), target leverage, conviction (the
loss it rides out) and horizon, drawn once from the population's random stream. It waits a random
time, builds a directional position over several steps to limit impact, holds it until its horizon
ends or its profit or loss says otherwise, unwinds, and waits again: entries are staggered and
random, with no common clock. It keeps part of its capital off the exchange and tops up margin when
an account nears maintenance, as large traders do. With ``hunt`` it leans on the side whose nearby
retail liquidation prices hold the most notional; with ``split_accounts`` it spreads over accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim.config import WhaleConfig

IDLE, BUILD, HOLD, UNWIND = "idle", "build", "hold", "unwind"
HUNT_SPEED = 4


@dataclass(frozen=True)
class WhaleTraits:
    """What distinguishes one whale from another, drawn once."""

    capital: float
    leverage: float
    conviction: float
    horizon: int
    first_wait: float


def draw_whales(count: int, config: WhaleConfig, rng: np.random.Generator) -> list[WhaleTraits]:
    """``count`` whales' traits: Pareto capital (capped), log-uniform leverage, uniform conviction,
    lognormal horizon and an exponential first wait, drawn in that order for all whales."""
    capital = np.minimum(config.capital * (1.0 - rng.random(count)) ** (-1.0 / config.capital_tail),
                         config.capital_max)
    leverage = np.exp(rng.uniform(np.log(config.leverage_min), np.log(config.leverage_max), count))
    conviction = rng.uniform(config.conviction_min, config.conviction_max, count)
    horizon = np.maximum(1, np.round(config.horizon * np.exp(config.horizon_sigma * rng.standard_normal(count))))
    first_wait = rng.exponential(config.wait, count)
    return [WhaleTraits(float(c), float(lv), float(k), int(h), float(w))
            for c, lv, k, h, w in zip(capital, leverage, conviction, horizon, first_wait)]


class Whale(mesa.Agent):
    """Waits, builds, holds and unwinds directional positions, optionally across several accounts."""

    def __init__(self, model: mesa.Model, config: WhaleConfig, traits: WhaleTraits):
        super().__init__(model)
        self.config = config
        self.traits = traits
        self.reserve = traits.capital * config.reserve_share
        share = (traits.capital - self.reserve) / config.split_accounts
        self.accounts = [
            model.exchange.open_account(owner=self.unique_id, kind="whale", entity=self.unique_id, deposit=share)
            for _ in range(config.split_accounts)
        ]
        self._accounts = np.array(self.accounts, dtype=np.int64)
        self.phase = IDLE
        self.countdown = traits.first_wait
        self.direction = 1
        self.targets = np.zeros(len(self.accounts))
        self.committed = 0.0
        self.profit_at_entry = 0.0
        self.entries: list[int] = []

    # ---------------------------------------------------------------- reading its own accounts
    def equity(self) -> float:
        return float(np.sum(self.model.exchange.equity(self._accounts)))

    def profit(self) -> float:
        """Trading profit so far: equity on the exchange less everything deposited there."""
        return self.equity() - float(np.sum(self.model.exchange.deposits[self._accounts]))

    def target_notional(self, account: int) -> float:
        """The notional this account aims for: its target leverage times its equity, capped at what
        the schedule lets that equity carry on the whale's side (after fees)."""
        exchange = self.model.exchange
        capacity = float(exchange.position_capacity(np.array([account]), np.array([self.direction]))[0])
        return min(self.traits.leverage * exchange.equity(account), capacity)

    def choose_direction(self) -> int:
        """Random, or with ``hunt`` the side whose retail liquidation cluster near the mark is larger."""
        if not self.config.hunt:
            return int(self.model.rng.choice([-1, 1]))
        below, above = self.model.liquidation_fuel(within=0.03)
        return -1 if below >= above else 1

    # ---------------------------------------------------------------- its turn
    def step(self) -> None:
        self.top_up()
        if self.phase == IDLE:
            self.countdown -= 1
            if self.countdown <= 0:
                self.start()
        elif self.phase == BUILD:
            self.build()
        elif self.phase == HOLD:
            self.countdown -= 1
            if self.countdown <= 0 or self.exit_on_profit_or_loss():
                self.phase, self.countdown = UNWIND, self.steps()
        else:
            self.unwind()

    @property
    def speed(self) -> int:
        """How many times faster than configured a whale builds, unwinds and holds: a hunter moves faster."""
        return HUNT_SPEED if self.config.hunt else 1

    def steps(self) -> int:
        """Steps to build or unwind."""
        return max(1, self.config.build_steps // self.speed)

    def start(self) -> None:
        self.direction = self.choose_direction()
        self.targets = np.array([self.target_notional(a) for a in self.accounts])
        self.committed = self.equity()
        self.profit_at_entry = self.profit()
        self.entries.append(self.model.steps)
        self.phase, self.countdown = BUILD, self.steps()

    def build(self) -> None:
        exchange = self.model.exchange
        for account, target in zip(self.accounts, self.targets):
            held = abs(exchange.position(account)) * exchange.mark
            size = min((target - held) / self.countdown / exchange.mark,
                       exchange.max_order_size(account, self.direction))
            if size > 0:
                exchange.submit_market_order(account, self.direction * size)
        self.countdown -= 1
        if self.countdown <= 0:
            self.phase, self.countdown = HOLD, max(1, self.traits.horizon // self.speed)

    def exit_on_profit_or_loss(self) -> bool:
        """Whether the position's profit reached the take-profit, or its loss the whale's conviction,
        both as shares of the margin committed at entry."""
        if self.committed <= 0:
            return True
        change = (self.profit() - self.profit_at_entry) / self.committed
        return change >= self.config.take_profit or change <= -self.traits.conviction

    def unwind(self) -> None:
        exchange = self.model.exchange
        for account in self.accounts:
            position = exchange.position(account)
            if position:
                exchange.submit_market_order(account, -position / self.countdown, reduce_only=True)
        self.countdown -= 1
        if self.countdown <= 0 or not any(exchange.lots[self.accounts]):
            self.phase, self.countdown = IDLE, self.model.rng.exponential(self.config.wait)

    def top_up(self) -> None:
        """Deposit from reserves into any account whose equity nears maintenance margin."""
        exchange = self.model.exchange
        if self.reserve <= 0:
            return
        for account in self.accounts:
            if not exchange.lots[account]:                  # flat: no margin to keep
                continue
            need, has = exchange.maintenance_margin(account), exchange.equity(account)
            if need > 0 and has < self.config.top_up_at * need:
                amount = min(self.reserve, self.config.top_up_to * need - has)
                exchange.deposit(account, amount)
                self.reserve -= amount
