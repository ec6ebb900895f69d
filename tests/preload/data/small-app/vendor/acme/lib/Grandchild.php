<?php

namespace Acme;

final class Grandchild extends Child
{
    public function with(?Base $other = null): static
    {
        return $this;
    }
}
