"""Rate limits per (user, capability): the rule, its windowed tables, and the limiter agent."""

from packetflow.ratelimit.rule import MemoryRateLimiter, RateLimit, RateLimiter, enforce

__all__ = ["MemoryRateLimiter", "RateLimit", "RateLimiter", "enforce"]
