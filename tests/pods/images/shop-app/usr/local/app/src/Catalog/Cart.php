<?php
namespace Shop\Catalog;

final class Cart
{
    /** @var Priced[] */
    private array $items = [];
    public function add(Priced $item): void { $this->items[] = $item; }
    public function total(): int { return array_sum(array_map(fn (Priced $p) => $p->price(), $this->items)); }
}
