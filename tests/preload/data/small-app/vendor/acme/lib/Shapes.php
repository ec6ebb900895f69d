<?php

namespace Acme;

enum Shapes: string implements Contract
{
    case Round = 'round';
    case Square = 'square';

    public function name(): string
    {
        return $this->value;
    }

    public function jsonSerialize(): mixed
    {
        return $this->value;
    }
}
