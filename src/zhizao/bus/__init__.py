"""In-process event bus on the unified namespace (UNS).

Topics are UNS paths (``enterprise/site/area/line/cell/equipment/tag``) for tag
values, and ``_events/<kind>/...`` for plant events (orders, failures, alarms).
Subscriptions take MQTT-style wildcards: ``+`` matches one level, ``#`` (last
level only) matches any number of levels, including none.
"""

from zhizao.bus.bus import Bus, Message, Subscription, topic_matches

__all__ = ["Bus", "Message", "Subscription", "topic_matches"]
