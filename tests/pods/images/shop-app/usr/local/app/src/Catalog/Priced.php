<?php
namespace Shop\Catalog;

interface Priced
{
    public function price(): int;
}
