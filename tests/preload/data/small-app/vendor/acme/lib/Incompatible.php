<?php

namespace Acme;

class Incompatible extends Child
{
    public function with(Base $other): static
    {
        return $this;
    }
}
