"""What the demo company sells: industrial automation, software, IT hardware, services and
spare parts, with a price level per product for realistic order and deal amounts."""

from __future__ import annotations

import numpy as np

from .vectors import pool

# (product, category, price relative to the customer's typical order, how often it is sold)
# fmt: off
PRODUCTS: tuple[tuple[str, str, float, float], ...] = (
    ("PLC 控制器", "工业自动化", 1.0, 5), ("伺服驱动系统", "工业自动化", 1.2, 4),
    ("变频器", "工业自动化", 0.6, 5), ("工业传感器套件", "工业自动化", 0.3, 5),
    ("MES 生产执行系统", "软件", 2.5, 2), ("ERP 管理软件授权", "软件", 1.5, 3),
    ("CRM 云服务订阅", "软件", 0.4, 4), ("数据分析平台", "软件", 1.2, 2),
    ("服务器", "IT 硬件", 1.0, 3), ("网络交换机", "IT 硬件", 0.5, 3),
    ("工业平板电脑", "IT 硬件", 0.3, 3),
    ("实施服务", "服务", 0.8, 3), ("年度运维服务", "服务", 0.6, 4),
    ("技术培训", "服务", 0.15, 3), ("咨询服务", "服务", 0.7, 2),
    ("备品备件", "耗材配件", 0.1, 6), ("标签耗材", "耗材配件", 0.05, 4),
)
# fmt: on
PRODUCT = pool([p for p, _, _, _ in PRODUCTS])
CATEGORY = pool([c for _, c, _, _ in PRODUCTS])
PRICE_LEVEL = np.array([level for _, _, level, _ in PRODUCTS])
SALES_WEIGHTS = tuple(weight for _, _, _, weight in PRODUCTS)
