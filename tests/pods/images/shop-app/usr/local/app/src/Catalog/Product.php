<?php
namespace Shop\Catalog;

class Product implements Priced
{
    public function __construct(private string $sku, private int $cents) {}
    public function sku(): string { return $this->sku; }
    public function price(): int { return $this->cents; }
}
