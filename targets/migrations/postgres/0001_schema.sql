-- EC schema: users, products, orders, order_items, plus the seed bookkeeping row.
CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE products (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price DOUBLE PRECISION NOT NULL,
    description TEXT NOT NULL,
    stock BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX products_category_idx ON products (category);

CREATE TABLE orders (
    id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    status TEXT NOT NULL,
    total DOUBLE PRECISION NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX orders_user_id_idx ON orders (user_id);

CREATE TABLE order_items (
    id BIGINT PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES orders (id),
    product_id BIGINT NOT NULL REFERENCES products (id),
    quantity BIGINT NOT NULL,
    unit_price DOUBLE PRECISION NOT NULL
);
CREATE INDEX order_items_order_id_idx ON order_items (order_id);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);

CREATE TABLE seed_info (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    scale BIGINT NOT NULL,
    seeded_at TEXT NOT NULL
);
