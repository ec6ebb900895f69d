<?php

namespace Acme;

trait Helpers
{
    public function shout(): string
    {
        return strtoupper($this->name());
    }
}
